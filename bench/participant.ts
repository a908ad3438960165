// A benchmark participant: votes PREPARED at once and acknowledges phase 2,
// and answers its business calls (bench/work-service.ts) at once.
// Prints {"listening": port}. The same process serves both twopc and the floor.
// Arguments: `--batched` also serves twopc.v1.BatchedParticipant (through
// the SDK's stream handler, as the participant helper does); `--pki DIR`
// serves mutual TLS (accounts.pem, ca.pem).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { loadTwopcProto } from 'twopc/internal/wire/proto';
import { serveExchange } from 'twopc/internal/participant-exchange';
import { serverTlsCredentials } from 'twopc/internal/tls/credentials';
import { WORK_HANDLERS, WORK_SERVICE } from './work-service.ts';

const { values: opts } = parseArgs({
  options: { batched: { type: 'boolean', default: false }, pki: { type: 'string' } },
});
const proto = loadTwopcProto().twopc.v1;
const server = new grpc.Server();
server.addService(proto.Participant.service, {
  Prepare: (_call: unknown, cb: grpc.sendUnaryData<object>) =>
    cb(null, { vote: 'VOTE_PREPARED', reason: '' }),
  Commit: (_call: unknown, cb: grpc.sendUnaryData<object>) =>
    cb(null, { outcome: 'OUTCOME_COMMITTED', reason: '' }),
  Abort: (_call: unknown, cb: grpc.sendUnaryData<object>) =>
    cb(null, { outcome: 'OUTCOME_ABORTED' }),
});
if (opts.batched) {
  server.addService(proto.BatchedParticipant.service, {
    Exchange: serveExchange('bench', {
      prepare: async () => ({ vote: 'VOTE_PREPARED', reason: '' }),
      commit: async () => ({ outcome: 'OUTCOME_COMMITTED', reason: '' }),
      abort: async () => ({ outcome: 'OUTCOME_ABORTED' }),
    }),
  });
}
server.addService(WORK_SERVICE, WORK_HANDLERS);
new HealthImplementation({ '': 'SERVING' }).addToServer(server);
const pki = opts.pki;
const credentials =
  pki === undefined
    ? grpc.ServerCredentials.createInsecure()
    : serverTlsCredentials({
        caFile: join(pki, 'ca.pem'),
        certFile: join(pki, 'accounts.pem'),
        keyFile: join(pki, 'accounts.key'),
      }).credentials;
server.bindAsync('127.0.0.1:0', credentials, (err, port) => {
  if (err) {
    throw err;
  }
  process.stdout.write(`${JSON.stringify({ listening: port })}\n`);
});
