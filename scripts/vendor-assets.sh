#!/bin/sh
# Copy the built front-end packages from node_modules into the app's static folder, and build
# the process model editor (frontend/ -> vendor/models/) with esbuild.
# The app serves them itself: no CDN at run time. The folder is not in git.
set -eu
out=service/static/vendor
rm -rf "$out"
mkdir -p "$out/govuk" "$out/bpmn-js" "$out/models"
cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.css node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js "$out/govuk/"
cp -r node_modules/govuk-frontend/dist/govuk/assets "$out/govuk/assets"
cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js node_modules/bpmn-js/dist/bpmn-modeler.production.min.js "$out/bpmn-js/"
cp -r node_modules/bpmn-js/dist/assets "$out/bpmn-js/assets"
sed -i "s|url(/assets/|url(/static/vendor/govuk/assets/|g" "$out/govuk/govuk-frontend.min.css"
# One bundle (JS + CSS) for the models area: bpmn-js modeler, properties panel, dmn-js, our
# spiffworkflow moddle descriptor and properties provider.
node_modules/.bin/esbuild frontend/models.js --bundle --minify --format=iife --target=es2020 \
  --loader:.woff=file --loader:.woff2=file --loader:.ttf=file --loader:.eot=file --loader:.svg=file \
  --asset-names=[name]-[hash] --legal-comments=external --log-level=warning \
  --outfile="$out/models/models.js"
echo "front-end assets copied to $out"
