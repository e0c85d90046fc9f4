import { memoryNetwork } from '../src/index.ts';
import { agentUpdateSuite } from './agent-updates.ts';
import { crypto, localhostTransports } from './support.ts';

agentUpdateSuite('memory', (cluster) => {
  const network = memoryNetwork({ crypto });
  const created: { close(): Promise<void> }[] = [];
  return {
    create: (identity, directory = cluster.directory) => {
      const transport = network.transport(identity, directory);
      created.push(transport);
      return transport;
    },
    closeAll: async () => {
      await Promise.all(created.map((transport) => transport.close()));
    },
  };
});

agentUpdateSuite('WebSocket', (cluster) => {
  const transports = localhostTransports(cluster);
  return {
    create: (identity, directory = cluster.directory) => transports.create(identity, { directory }),
    closeAll: () => transports.closeAll(),
  };
});
