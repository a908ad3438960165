import assert from 'node:assert/strict';
import { versionProblem } from 'twopc/internal/mysql-server-check';

describe('versionProblem() (the MariaDB/MySQL participant’s version probe)', function () {
  const cases: [string, RegExp | null][] = [
    ['10.11.19-MariaDB-0+deb12u1-log', null],
    ['10.5.0-MariaDB', null],
    ['11.4.2-MariaDB', null],
    [
      '10.4.32-MariaDB-1:10.4.32+maria~deb10',
      /^MariaDB 10\.4\.32.* is too old: twopc needs MariaDB 10\.5\.0 or later/,
    ],
    ['8.0.30', null],
    ['8.4.0', null],
    ['9.1.0', null],
    [
      '8.0.29-0ubuntu0.20.04.3',
      /^MySQL 8\.0\.29.* is too old: twopc needs MySQL 8\.0\.30 or later/,
    ],
    ['5.7.44-log', /^MySQL 5\.7\.44-log is too old/],
    ['garbage', /^MySQL garbage is too old/],
  ];
  for (const [version, problem] of cases) {
    it(`${problem === null ? 'accepts' : 'refuses'} ${version}`, function () {
      const found = versionProblem(version);
      if (problem === null) {
        assert.equal(found, null);
      } else {
        assert.match(found ?? '', problem);
      }
    });
  }
});
