// A stand-in for `@azure/functions-core`, the module the Azure Functions Node.js worker provides to
// the app at run time (the package never installs it). `@azure/functions` hands it every function
// the app registers (`app.http`, `app.eventGrid`, `app.timer`, …) with its binding metadata; this
// stand-in keeps them, so the rehearsal's host (functions-host.js) can list and call them.
// Installed by startFunctionsHost as <app folder>/node_modules/@azure/functions-core/index.js.

const registered = [];
let programmingModel;

module.exports = {
  registered,
  setProgrammingModel(model) {
    programmingModel = model;
  },
  getProgrammingModel() {
    return programmingModel;
  },
  registerFunction(metadata, callback) {
    registered.push({ metadata, callback });
    return { dispose() {} };
  },
  registerHook() {
    return { dispose() {} };
  },
  log() {},
};
