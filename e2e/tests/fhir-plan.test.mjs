// The care and support plan as FHIR R4 (docs/plan-fhir-mapping.md), checked by an independent
// implementation: `concord export plan` on the demo practice's agreed plans, each resource
// validated by the Python fhir.resources package (scripts/fhir-validate.sh), and the mapping's
// key facts checked. A resource with a required element removed is refused, so the check can fail.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'

const repository = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const bin = process.env.CONCORD_BIN

describe('the plan as FHIR R4', () => {
  let directory
  let database

  before(async () => {
    assert.ok(bin, 'set CONCORD_BIN to the concord binary (scripts/test.sh does)')
    directory = await mkdtemp(path.join(tmpdir(), 'concord-fhir-plan-'))
    database = `sqlite://${path.join(directory, 'fhir.db')}`
    execFileSync(bin, ['--database', database, 'demo', '--no-serve', '--patients', '300'], { cwd: repository, stdio: 'pipe' })
  })

  after(async () => {
    if (directory) await rm(directory, { recursive: true, force: true })
  })

  const validate = (bundle) =>
    JSON.parse(execFileSync(path.join(repository, 'scripts/fhir-validate.sh'), { input: JSON.stringify(bundle), cwd: repository }).toString())

  test('every resource of every agreed demo plan validates, and the mapping holds', () => {
    const plans = JSON.parse(execFileSync(bin, ['--database', database, 'report', 'plans', '--format', 'json'], { cwd: repository }).toString())
    assert.ok(plans.length >= 4, `the demo has agreed plans: ${plans.length}`)
    for (const plan of plans) {
      const bundle = JSON.parse(execFileSync(bin, ['--database', database, 'export', 'plan', '--nhs-number', plan.nhs_number], { cwd: repository }).toString())
      assert.equal(bundle.resourceType, 'Bundle')
      const results = validate(bundle)
      for (const result of results) {
        assert.deepEqual(result.errors, [], `${result.resourceType}/${result.id} is valid FHIR R4`)
      }
      const resources = bundle.entry.map((entry) => entry.resource)
      const patient = resources.find((resource) => resource.resourceType === 'Patient')
      assert.deepEqual(patient.identifier, [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: plan.nhs_number }])
      const [main, ...contingencies] = resources.filter((resource) => resource.resourceType === 'CarePlan')
      assert.equal(main.status, plan.status === 'agreed' ? 'active' : 'draft')
      assert.equal(main.intent, 'plan')
      assert.equal(main.subject.reference, `Patient/${patient.id}`)
      assert.equal(main.meta.versionId, String(plan.version))
      assert.deepEqual(main.category[0].coding[0], { system: 'http://snomed.info/sct', code: '734163000', display: 'Care plan' })
      assert.ok(main.activity.some((activity) => activity.detail.code?.coding?.[0]?.code === '425268008'), 'the review is tagged 425268008')
      const goals = resources.filter((resource) => resource.resourceType === 'Goal')
      assert.equal(main.goal.length, goals.length)
      for (const goal of goals) {
        assert.equal(goal.lifecycleStatus, 'active')
        assert.ok(goal.extension.some((extension) => extension.url === 'urn:concord:goal-importance'))
      }
      assert.ok(contingencies.length >= 1 && contingencies.every((contingency) => contingency.partOf[0].reference === `CarePlan/${main.id}`))
      assert.ok(!JSON.stringify(bundle).includes(`/${plan.nhs_number}`), 'no NHS number in any reference or URL')
    }

    // The validator can refuse: a CarePlan without its required status.
    const bundle = JSON.parse(execFileSync(bin, ['--database', database, 'export', 'plan', '--nhs-number', plans[0].nhs_number], { cwd: repository }).toString())
    const broken = bundle.entry.find((entry) => entry.resource.resourceType === 'CarePlan').resource
    delete broken.status
    const refused = validate({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: broken }] })
    assert.ok(refused[1].errors.some((error) => error.includes('status')), JSON.stringify(refused))
  })
})
