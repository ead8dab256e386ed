// Progressive enhancement only: every page works without JavaScript. Starts the NHS.UK frontend
// components (error summary focus, header menu, skip link, buttons) from the pinned package.
import { initAll } from '/assets/nhsuk-frontend-10.6.1.min.js'

initAll()
