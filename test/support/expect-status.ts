import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';

/** Asserts that a call fails with a gRPC status, a message matching `pattern`, and an error code trailer. */
export async function expectStatus(
  call: Promise<unknown>,
  code: grpc.status,
  pattern?: RegExp,
): Promise<grpc.ServiceError> {
  try {
    await call;
  } catch (err) {
    const e = err as grpc.ServiceError;
    assert.equal(
      grpc.status[e.code],
      grpc.status[code],
      `expected ${grpc.status[code]}, got ${grpc.status[e.code]}: ${e.details}`,
    );
    if (pattern !== undefined) {
      assert.match(e.details, pattern);
    }
    return e;
  }
  assert.fail(`expected ${grpc.status[code]}, but the call succeeded`);
}

/** Polls `fn` until it returns a truthy value (real-time tests only). */
export async function eventually<T>(
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const value = await fn();
    if (value) {
      return value;
    }
    if (Date.now() - start > timeoutMs) {
      throw new Error(`${what} not reached within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
