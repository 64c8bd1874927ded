// Starts GOV.UK Frontend. A module file rather than the inline snippet of the GOV.UK template,
// because the Content Security Policy allows no inline script.
import { initAll, isSupported } from '../vendor/govuk/govuk-frontend.min.js'

document.body.classList.add('js-enabled')
if (isSupported()) {
  document.body.classList.add('govuk-frontend-supported')
  initAll()
}
