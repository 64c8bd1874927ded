// Starts GOV.UK Frontend. A module file rather than the inline snippet of the GOV.UK template,
// because the Content Security Policy allows no inline script. A browser that runs this module
// supports GOV.UK Frontend, so the body gets both classes the template's snippet would add.
import { initAll } from '../vendor/govuk/govuk-frontend.min.js'

document.body.classList.add('js-enabled', 'govuk-frontend-supported')
initAll()
