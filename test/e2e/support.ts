/** The end-to-end tests use the local-cluster helpers of @conclave/node. */
export {
  freePorts,
  makeCluster,
  metricsOf,
  metricValue,
  type RunningReplica,
  startReplica,
  statusOf,
  stopReplica,
  waitFor,
} from '@conclave/node';
