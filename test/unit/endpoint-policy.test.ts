import assert from 'node:assert/strict';
import { EndpointPolicy, parsePattern } from '../../src/auth/endpoint-policy.ts';
import { EndpointNotAllowedError } from 'twopc/internal/contract/errors';

const registry = new Map([
  ['bank-a', [parsePattern('bank-a.svc:50061', 'test')]],
  ['bank-b', [parsePattern('10.20.0.0/16:*', 'test')]],
  ['fleet', [parsePattern('*.fleet.internal:443', 'test')]],
  // An operator may allow a link-local address, but only by naming it.
  ['edge', [parsePattern('169.254.10.0/24:8443', 'test')]],
]);

async function refused(policy: EndpointPolicy, name: string, endpoint: string): Promise<string> {
  try {
    await policy.check(name, endpoint);
  } catch (err) {
    assert.ok(err instanceof EndpointNotAllowedError);
    return err.message;
  }
  assert.fail(`${name} at ${endpoint} was allowed`);
}

describe('EndpointPolicy', function () {
  const own = [
    { host: '127.0.0.1', port: 5432, what: 'PostgreSQL' },
    { host: '0.0.0.0', port: 50051, what: 'gRPC listener' },
  ];

  it('allows only registered names at their patterns', async function () {
    const policy = new EndpointPolicy(registry, own);
    await policy.check('bank-b', '10.20.3.4:50061');
    await policy.check('edge', '169.254.10.7:8443');
    assert.match(await refused(policy, 'bank-q', '10.20.3.4:1'), /not a registered participant/);
    assert.match(await refused(policy, 'bank-b', '10.21.0.1:50061'), /not an endpoint allowed/);
    assert.match(await refused(policy, 'bank-a', 'bank-a.svc:50062'), /not an endpoint allowed/);
    assert.match(await refused(policy, 'fleet', 'fleet.internal:443'), /not an endpoint allowed/);
    assert.match(await refused(policy, 'edge', '169.254.169.254:8443'), /not an endpoint allowed/);
  });

  it('never dials link-local, metadata, unspecified or own addresses without a registry', async function () {
    const policy = new EndpointPolicy(null, own);
    await policy.check('svc', '127.0.0.1:50061');
    await policy.check('svc', '10.1.2.3:80');
    for (const endpoint of [
      '169.254.169.254:80',
      '[fd00:ec2::254]:80',
      '0.0.0.0:80',
      '224.0.0.1:80',
    ]) {
      assert.match(await refused(policy, 'svc', endpoint), /never dialled/);
    }
    assert.match(await refused(policy, 'svc', '127.0.0.1:5432'), /PostgreSQL/);
    assert.match(await refused(policy, 'svc', 'localhost:50051'), /gRPC listener/);
    assert.match(await refused(policy, 'svc', '127.0.0.2:50051'), /gRPC listener/);
  });
});
