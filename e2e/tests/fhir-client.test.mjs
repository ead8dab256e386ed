// An independent FHIR client (fhir-kit-client, as a partner's integration might use) against a
// running server: it reads the CapabilityStatement, finds a person by NHS number with a POST
// search (Concord refuses NHS numbers in URLs), reads their care plan and goals, resolves
// references, and pages through their results by the server's next links.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'

import { Client } from 'fhir-kit-client'

import { startServer } from '../lib.mjs'

const repository = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

describe('an independent FHIR client', () => {
  let server
  const cli = (...args) => execFileSync(process.env.CONCORD_BIN, ['--database', server.database, ...args], { cwd: repository }).toString()

  before(async () => {
    server = await startServer({ cycle: true })
  })

  after(async () => {
    await server?.stop()
  })

  test('finds a person by NHS number, reads their plan and goals, and pages through their results', async () => {
    const partner = JSON.parse(cli('report', 'organisations', '--format', 'json')).find((organisation) => organisation.kind === 'partner')
    const registered = JSON.parse(cli('client', 'create', '--org', partner.ods_code, '--name', 'fhir-kit-client', '--scope', 'system/*.read'))
    const issued = await fetch(`${server.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${registered.client_id}:${registered.client_secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials' })
    }).then((response) => response.json())

    const client = new Client({ baseUrl: `${server.url}/fhir` })
    client.bearerToken = issued.access_token
    const capability = await client.capabilityStatement()
    assert.equal(capability.fhirVersion, '4.0.1')
    assert.ok(capability.rest[0].resource.some((resource) => resource.type === 'Observation'))

    let found
    for (const plan of JSON.parse(cli('report', 'plans', '--format', 'json')).filter((row) => row.status === 'agreed')) {
      const bundle = await client.search({
        resourceType: 'Patient',
        searchParams: { identifier: `https://fhir.nhs.uk/Id/nhs-number|${plan.nhs_number}` },
        options: { postSearch: true }
      })
      if (bundle.total > 0) {
        found = { plan, patient: bundle.entry[0].resource }
        break
      }
    }
    assert.ok(found, 'someone shares their plan with the partner')
    const { patient, plan } = found
    assert.equal(patient.identifier[0].value, plan.nhs_number)

    const plans = await client.search({ resourceType: 'CarePlan', searchParams: { patient: `Patient/${patient.id}` }, options: { postSearch: true } })
    const main = plans.entry.map((entry) => entry.resource).find((resource) => !resource.partOf)
    assert.equal(main.status, 'active')
    const again = await client.read({ resourceType: 'CarePlan', id: main.id })
    assert.equal(again.meta.versionId, String(plan.version))
    const goal = await client.resolve({ reference: main.goal[0].reference })
    assert.equal(goal.resourceType, 'Goal')
    assert.equal(goal.subject.reference, `Patient/${patient.id}`)
    const history = await client.history({ resourceType: 'CarePlan', id: main.id })
    assert.equal(history.entry.length, plan.version)

    // The client follows the server's next links until there are none.
    let page = await client.search({ resourceType: 'Observation', searchParams: { patient: `Patient/${patient.id}`, _count: 5 }, options: { postSearch: true } })
    const total = page.total
    let seen = page.entry?.length ?? 0
    let pages = 1
    while (page.link?.some((link) => link.relation === 'next')) {
      page = await client.nextPage({ bundle: page })
      seen += page.entry?.length ?? 0
      pages += 1
    }
    assert.equal(seen, total, 'every result, once')
    assert.ok(pages > 1, 'over more than one page')
  })
})
