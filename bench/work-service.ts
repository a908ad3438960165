// A business call of the benchmark's participants: what a client does at a
// service between Begin and Commit (its debit, its reservation), reduced to
// one unary gRPC round trip that carries the transaction id as real calls
// do and does no work. Bytes in, bytes out: no proto of its own.
import * as grpc from '@grpc/grpc-js';

const passThrough = (b: Buffer): Buffer => b;
const PATH = '/twopc.bench.Work/Do';

/** `/twopc.bench.Work/Do`: answers an empty message at once. */
export const WORK_SERVICE: grpc.ServiceDefinition = {
  Do: {
    path: PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: passThrough,
    responseDeserialize: passThrough,
  },
};

/** The participant's side: every call answered at once. */
export const WORK_HANDLERS: grpc.UntypedServiceImplementation = {
  Do: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
    cb(null, Buffer.alloc(0)),
};

const WorkClient = grpc.makeGenericClientConstructor(WORK_SERVICE, 'Work');

/** One plaintext channel per participant endpoint, for the load generator's business calls. */
export class WorkCalls {
  readonly #clients = new Map<string, grpc.Client>();

  /** One business call at `endpoint` in transaction `txnId`. */
  call(endpoint: string, txnId: string): Promise<void> {
    let client = this.#clients.get(endpoint);
    if (client === undefined) {
      client = new WorkClient(endpoint, grpc.credentials.createInsecure());
      this.#clients.set(endpoint, client);
    }
    const metadata = new grpc.Metadata();
    metadata.set('twopc-txn-id', txnId);
    const c = client;
    return new Promise((resolve, reject) => {
      c.makeUnaryRequest(
        PATH,
        passThrough,
        passThrough,
        Buffer.alloc(0),
        metadata,
        (err: grpc.ServiceError | null) => (err === null ? resolve() : reject(err)),
      );
    });
  }

  close(): void {
    for (const c of this.#clients.values()) {
      c.close();
    }
  }
}
