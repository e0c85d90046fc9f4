/** The end-to-end tests use the local-cluster helpers of @conclave/cli. */
export {
  makeCluster,
  metricsOf,
  metricValue,
  type RunningReplica,
  runConclave,
  runConclaveHere,
  startReplica,
  statusOf,
  stopReplica,
  waitFor,
} from '@conclave/cli';
