import assert from 'node:assert/strict';
import { redactUrl } from '../../src/store/redact-url.ts';

describe('redactUrl()', function () {
  for (const [url, shown] of [
    ['postgres://u:hunter2@db:5432/log', 'postgres://u:***@db:5432/log'],
    ['postgres://:hunter2@db/log', 'postgres://:***@db/log'],
    ['postgres://u:pa@hunter2@db/log?sslmode=require', 'postgres://u:***@db/log?sslmode=require'],
    ['postgres://u:pa:hunter2@db/log', 'postgres://u:***@db/log'],
    ['postgres://u:hun%40ter2@db/log', 'postgres://u:***@db/log'],
    [
      'postgresql://u@db/log?password=hunter2&sslpassword=hunter2&sslkey=/hunter2.key&application_name=a',
      'postgresql://u@db/log?password=***&sslpassword=***&sslkey=***&application_name=a',
    ],
    ['postgres://db/log?PASSWORD=hunter2', 'postgres://db/log?PASSWORD=***'],
    ['postgres://u:hunter2@d b/log', 'postgres://*** (not a valid URL)'],
    ['postgres://u@db/log', 'postgres://u@db/log'],
  ] as const) {
    it(`shows ${url} as ${shown}`, function () {
      assert.equal(redactUrl(url), shown);
      assert.doesNotMatch(redactUrl(url), /hunter2|ter2/);
    });
  }
});
