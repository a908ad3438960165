// A benchmark participant: votes PREPARED at once and acknowledges phase 2.
// Prints {"listening": port}. The same process serves both twopc and the floor.
// With a PKI directory argument it serves mutual TLS (accounts.pem, ca.pem).
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { loadTwopcProto } from '../src/grpc/proto.ts';
import { serverTlsCredentials } from '../src/tls/credentials.ts';

const server = new grpc.Server();
server.addService(loadTwopcProto().twopc.v1.Participant.service, {
  Prepare: (_call: unknown, cb: grpc.sendUnaryData<object>) =>
    cb(null, { vote: 'VOTE_PREPARED', reason: '' }),
  Commit: (_call: unknown, cb: grpc.sendUnaryData<object>) =>
    cb(null, { outcome: 'OUTCOME_COMMITTED', reason: '' }),
  Abort: (_call: unknown, cb: grpc.sendUnaryData<object>) =>
    cb(null, { outcome: 'OUTCOME_ABORTED' }),
});
new HealthImplementation({ '': 'SERVING' }).addToServer(server);
const pki = process.argv[2];
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
