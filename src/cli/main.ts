import type { Command } from "commander";
import { registerAgentCommands } from "./agent.js";
import { registerAppCommandSet } from "./apps-main.js";
import { registerDeployCommands } from "./deploy.js";
import { processOutput, type Output } from "../output/output.js";
import { rootProgram, runProgram } from "./program.js";
import { registerImagesBakeCommands } from "./images-bake.js";
import { registerImagesCommands } from "./images.js";
import { registerKvCommands } from "./kv.js";
import { staleNoticeTo } from "./config.js";
import { registerConvergeCommands } from "./converge.js";
import { registerLockCommands } from "./lock.js";
import { registerServiceCommands } from "./services.js";
import { registerNodesCommands } from "./nodes.js";
import { registerServersCommands } from "./servers.js";
import { registerPoolCommands } from "./pools.js";
import { registerCronCommands } from "./cron.js";
import { registerPipelineCommands } from "./pipelines.js";
import { registerNotificationCommands } from "./notifications.js";
import { registerStackCommands } from "./stack.js";
import { registerStackConnectCommands } from "./stack-connect.js";
import { registerStatesCommands } from "./states.js";
import { registerStoreCommands } from "./store.js";
import { registerTemplateCommands } from "./template.js";
import { registerAuditCommands, registerTokenCommands } from "./tokens.js";
import { registerJoinTokenCommands } from "./join-tokens.js";
import { registerRouterCommands } from "./router.js";
import { registerCertCommands } from "./certs.js";
import { registerUpCommands } from "./up.js";
import { registerUiCommands } from "./ui.js";

/** Build the `gantry` command tree; output goes through `o` so tests can capture it. */
export function buildProgram(o: Output = processOutput): Command {
  const program = rootProgram(o);
  registerUpCommands(program, o);
  registerRouterCommands(program, o);
  registerCertCommands(program, o);
  registerAgentCommands(program, o);
  registerAppCommandSet(program, o);
  registerDeployCommands(program, o);
  registerKvCommands(program, o);
  registerServiceCommands(program, o);
  registerLockCommands(program, o);
  registerTokenCommands(program, o);
  registerJoinTokenCommands(program, o);
  registerAuditCommands(program, o);
  registerStoreCommands(program, o);
  registerNodesCommands(program, o);
  registerServersCommands(program, o);
  registerPoolCommands(program, o);
  registerCronCommands(program, o);
  registerPipelineCommands(program, o);
  registerNotificationCommands(program, o);
  registerStatesCommands(program, o);
  registerTemplateCommands(program, o);
  registerConvergeCommands(program, o);
  registerStackCommands(program, o);
  registerStackConnectCommands(program, o);
  registerImagesCommands(program, o);
  registerImagesBakeCommands(program, o);
  registerUiCommands(program, o);
  return program;
}

/** Run the CLI with process argv; sets process.exitCode. */
export async function main(argv: string[], o: Output = processOutput): Promise<void> {
  staleNoticeTo(o.err);
  await runProgram(buildProgram(o), argv, o);
}
