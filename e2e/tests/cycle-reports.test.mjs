// The cycle's reports through the real `concord` binary: a generated practice is imported, and
// `report worklist` and `report triage` print JSON that matches the published schemas, ranked as
// documented (recall month from this month, then risk), with urgent flags first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';

const root = resolve(import.meta.dirname, '..', '..');
const bin = process.env.CONCORD_BIN;
const scratch = mkdtempSync(join(tmpdir(), 'concord-cycle-'));
const database = `sqlite://${join(scratch, 'cycle.db')}`;

function concord(args) {
  const result = spawnSync(bin, ['--database', database, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw result.error;
  return result;
}

function schema(name) {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  return ajv.compile(JSON.parse(readFileSync(join(root, 'schemas', name), 'utf8')));
}

test('worklist and triage reports match their schemas and their documented order', () => {
  const out = join(scratch, 'extract');
  const generated = concord(['generate', '--patients', '1500', '--practices', '1', '--seed', '11', '--out', out]);
  assert.equal(generated.status, 0, generated.stderr);
  const imported = concord(['import', out, '--synthetic', '--format', 'json']);
  assert.ok([0, 2].includes(imported.status), imported.stderr);
  const summary = JSON.parse(imported.stdout.trim().split('\n').at(-1));
  assert.ok(summary.status_refreshed >= 1500, JSON.stringify(summary));

  const worklist = concord(['report', 'worklist', '--format', 'json']);
  assert.equal(worklist.status, 0, worklist.stderr);
  const entries = JSON.parse(worklist.stdout);
  const validWorklist = schema('report-worklist.schema.json');
  assert.ok(validWorklist(entries), JSON.stringify(validWorklist.errors?.slice(0, 3)));
  assert.ok(entries.length > 0, 'the generated practice has people due');
  const month = new Date().getUTCMonth() + 1;
  const distance = (entry) => (entry.recall_month - month + 12) % 12;
  for (let i = 1; i < entries.length; i += 1) {
    const [a, b] = [entries[i - 1], entries[i]];
    assert.ok(distance(a) < distance(b) || (distance(a) === distance(b) && a.risk_score >= b.risk_score), `entries ${i - 1} and ${i} out of order`);
  }
  assert.ok(entries.every((entry) => entry.conditions.length > 0));
  assert.ok(entries.some((entry) => entry.due.length > 0), 'care processes are due for someone');

  const diabetes = JSON.parse(concord(['report', 'worklist', '--format', 'json', '--register', 'diabetes']).stdout);
  assert.ok(diabetes.length > 0 && diabetes.every((entry) => entry.conditions.includes('diabetes')));
  const badStage = concord(['report', 'worklist', '--stage', 'nearly-done']);
  assert.notEqual(badStage.status, 0);
  assert.match(badStage.stderr, /is not a cycle stage/);

  const triage = concord(['report', 'triage', '--format', 'json']);
  assert.equal(triage.status, 0, triage.stderr);
  const queue = JSON.parse(triage.stdout);
  const validTriage = schema('report-triage.schema.json');
  assert.ok(validTriage(queue), JSON.stringify(validTriage.errors?.slice(0, 3)));
  const rank = { urgent: 0, soon: 1, routine: 2 };
  const worst = (entry) => Math.min(...entry.flags.map((flag) => rank[flag.severity]));
  for (let i = 1; i < queue.length; i += 1) {
    assert.ok(worst(queue[i - 1]) <= worst(queue[i]), 'people with urgent flags come first');
  }

  // The commissioner's outcomes at each level, JSON against its schema, and CSV.
  const validOutcomes = schema('report-outcomes.schema.json');
  for (const level of ['practice', 'pcn', 'region']) {
    const outcomes = concord(['report', 'outcomes', '--level', level, '--format', 'json']);
    assert.equal(outcomes.status, 0, outcomes.stderr);
    const units = JSON.parse(outcomes.stdout);
    assert.ok(units.length >= 1 && units.every((unit) => unit.level === level));
    assert.ok(validOutcomes(units), JSON.stringify(validOutcomes.errors?.slice(0, 3)));
  }
  const csv = concord(['report', 'outcomes', '--level', 'region', '--format', 'csv']);
  assert.equal(csv.status, 0, csv.stderr);
  const [header, ...lines] = csv.stdout.trim().split('\n');
  for (const column of ['care_plans_shared_with_patient', 'care_process_completeness', 'unscheduled_visits_per_patient_year_before', 'feel_supported']) {
    assert.ok(header.split(',').includes(column), column);
  }
  assert.equal(lines.length, 1, 'one region');
  assert.equal(concord(['report', 'outcomes', '--level', 'galaxy']).status, 1, 'an unknown level is refused');
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));
