// Shows a case's process diagram with bpmn-js's NavigatedViewer and highlights the completed
// and current elements. The XML and the element ids come from the app (no inline script: CSP).
(function () {
  'use strict'
  var container = document.getElementById('diagram')
  if (!container || !window.BpmnJS) { return }

  function getText (url) {
    return fetch(url, { credentials: 'same-origin' }).then(function (response) {
      if (!response.ok) { throw new Error('HTTP ' + response.status) }
      return response.text()
    })
  }

  Promise.all([getText(container.dataset.xmlUrl), getText(container.dataset.stateUrl)])
    .then(function (results) {
      var xml = results[0]
      var state = JSON.parse(results[1])
      container.innerHTML = ''
      container.classList.add('app-diagram--ready')
      var viewer = new window.BpmnJS({ container: container })
      return viewer.importXML(xml).then(function () {
        var canvas = viewer.get('canvas')
        var registry = viewer.get('elementRegistry')
        canvas.zoom('fit-viewport')
        function mark (ids, marker) {
          (ids || []).forEach(function (id) {
            if (registry.get(id)) { canvas.addMarker(id, marker) }
          })
        }
        mark(state.completed, 'app-completed')
        mark(state.active, 'app-active')
        container.setAttribute('data-highlighted', String(
          container.querySelectorAll('.app-completed, .app-active').length))
      })
    })
    .catch(function () {
      container.innerHTML = ''
      var message = document.createElement('p')
      message.className = 'govuk-body'
      message.textContent = 'The process diagram cannot be shown for this case.'
      container.appendChild(message)
    })
})()
