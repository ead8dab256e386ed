// The FHIR R4 API on a running server, used as a partner organisation's system would: a client
// registered with `concord client create`, a token by OAuth 2.0 client credentials, the person
// found by NHS number with a POSTed search, their care plan and goals read. A partner sees only
// people who agreed to share with it (an explicit refusal hides them); every error is an
// OperationOutcome; the resources served validate with the independent fhir.resources package.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'

import { startServer } from '../lib.mjs'

const repository = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

describe('the FHIR API', () => {
  let server
  const cli = (...args) => execFileSync(process.env.CONCORD_BIN, ['--database', server.database, ...args], { cwd: repository }).toString()

  before(async () => {
    server = await startServer({ cycle: true })
  })

  after(async () => {
    await server?.stop()
  })

  const token = async (id, secret) => {
    const response = await fetch(`${server.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret })
    })
    return { status: response.status, body: await response.json() }
  }

  const fhir = async (bearer, route, form) => {
    const response = await fetch(`${server.url}/fhir/${route}`, {
      method: form ? 'POST' : 'GET',
      headers: { authorization: `Bearer ${bearer}`, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: form ? new URLSearchParams(form) : undefined
    })
    assert.match(response.headers.get('content-type'), /^application\/fhir\+json/, route)
    return { status: response.status, body: await response.json() }
  }

  const validate = (resources) => JSON.parse(execFileSync(path.join(repository, 'scripts/fhir-validate.sh'), {
    input: JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) }),
    cwd: repository
  }).toString())

  test('a partner finds a consenting person by NHS number and reads their plan; others stay hidden', async () => {
    const metadata = await fetch(`${server.url}/fhir/metadata`).then((response) => response.json())
    assert.equal(metadata.resourceType, 'CapabilityStatement')
    assert.equal(metadata.fhirVersion, '4.0.1')

    const partners = JSON.parse(cli('report', 'organisations', '--format', 'json')).filter((organisation) => organisation.kind === 'partner')
    assert.ok(partners.length >= 2, 'the demo has a community service and a hospital')
    const client = JSON.parse(cli('client', 'create', '--org', partners[0].ods_code, '--name', 'Community EPR', '--scope', 'system/Patient.read system/CarePlan.read system/Goal.read'))
    assert.ok(client.client_id && client.client_secret)

    assert.equal((await token(client.client_id, 'wrong')).status, 401)
    assert.equal((await token(client.client_id, 'wrong')).body.error, 'invalid_client')
    const issued = await token(client.client_id, client.client_secret)
    assert.equal(issued.status, 200)
    assert.equal(issued.body.token_type, 'bearer')
    const bearer = issued.body.access_token

    const unauthorised = await fhir('not-a-token', 'Patient/_search', { identifier: 'https://fhir.nhs.uk/Id/nhs-number|9434765919' })
    assert.equal(unauthorised.status, 401)
    assert.equal(unauthorised.body.resourceType, 'OperationOutcome')
    const byGet = await fetch(`${server.url}/fhir/Patient?identifier=x`, { headers: { authorization: `Bearer ${bearer}` } })
    assert.equal(byGet.status, 405, 'NHS numbers are never searched in a URL')

    const plans = JSON.parse(cli('report', 'plans', '--format', 'json'))
    let shared = 0
    let hidden = 0
    for (const plan of plans) {
      const found = await fhir(bearer, 'Patient/_search', { identifier: `https://fhir.nhs.uk/Id/nhs-number|${plan.nhs_number}` })
      assert.equal(found.status, 200)
      assert.equal(found.body.type, 'searchset')
      if (found.body.total === 0) {
        hidden += 1
        continue
      }
      shared += 1
      const patient = found.body.entry[0].resource
      assert.deepEqual(patient.identifier[0], { system: 'https://fhir.nhs.uk/Id/nhs-number', value: plan.nhs_number })
      const carePlans = await fhir(bearer, `CarePlan?patient=Patient/${patient.id}`)
      assert.equal(carePlans.status, 200)
      const main = carePlans.body.entry.map((entry) => entry.resource).find((resource) => !resource.partOf)
      assert.equal(main.status, 'active')
      const readResponse = await fetch(`${server.url}/fhir/CarePlan/${main.id}`, { headers: { authorization: `Bearer ${bearer}` } })
      assert.equal(readResponse.headers.get('etag'), `W/"${plan.version}"`, 'the version is the ETag')
      const read = { body: await readResponse.json() }
      assert.equal(read.body.id, main.id)
      // Every version can be read: the history, newest first, and each version by its id.
      const history = await fhir(bearer, `CarePlan/${main.id}/_history`)
      assert.equal(history.body.type, 'history')
      const versions = history.body.entry.map((entry) => entry.resource.meta.versionId)
      assert.deepEqual(versions, [...Array(plan.version).keys()].map((index) => String(plan.version - index)))
      const first = await fhir(bearer, `CarePlan/${main.id}/_history/1`)
      assert.equal(first.body.meta.versionId, '1')
      assert.equal(first.body.status, 'completed', 'an older version is completed')
      assert.equal((await fhir(bearer, `CarePlan/${main.id}/_history/99`)).status, 404)
      const goal = await fhir(bearer, main.goal[0].reference)
      assert.equal(goal.body.resourceType, 'Goal')
      for (const result of validate([patient, ...carePlans.body.entry.map((entry) => entry.resource), goal.body])) {
        assert.deepEqual(result.errors, [], `${result.resourceType}/${result.id}`)
      }
    }
    assert.ok(shared >= 1, `someone shares with ${partners[0].ods_code}`)
    assert.ok(hidden >= 1, 'someone who refused sharing is not found')

    const missing = await fhir(bearer, 'CarePlan/no-such-plan')
    assert.equal(missing.status, 404)
    assert.equal(missing.body.resourceType, 'OperationOutcome')
    const unknown = await fhir(bearer, 'Observation/x')
    assert.equal(unknown.body.resourceType, 'OperationOutcome')
    for (const plan of plans) assert.ok(!server.log().includes(plan.nhs_number), 'no NHS number reaches the log')
  })
})
