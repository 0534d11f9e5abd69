// What src/spec/kinds/converge-loader.ts loads on demand.
export { stringify as yamlStringify } from "yaml";
export { loadStates } from "../../converge/load.js";
export { loadTop } from "../../converge/top.js";
