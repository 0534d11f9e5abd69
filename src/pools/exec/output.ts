/**
 * What an `exec` pool's commands print (JSON on stdout), checked with zod: a wrong answer is an
 * error that names the command and the field, never a machine half understood.
 */
import * as z from "zod";
import { GantryError, isGantryError } from "../../errors.js";
import { NodeNameSchema } from "../../model/node.js";
import { parseWith } from "../../validate.js";
import { commandName, type ExecCommand } from "./run.js";

const MachineStateSchema = z.enum(["running", "stopped"]);
const ProviderIdSchema = z.string().min(1).max(1024);

/** `create` prints `{providerId, state?}`: the cloud's handle of the machine it made. */
export const CreateOutputSchema = z.object({
  providerId: ProviderIdSchema,
  state: MachineStateSchema.optional(),
});
export type CreateOutput = z.infer<typeof CreateOutputSchema>;

/** `list` prints the pool's machines (any order; extra fields are ignored). */
export const ListOutputSchema = z.array(
  z.object({
    name: NodeNameSchema,
    instance: z.int().min(0).max(255),
    address: z.string().min(1).max(253),
    state: MachineStateSchema,
    providerId: ProviderIdSchema,
    createdAt: z.string().refine((s) => !Number.isNaN(Date.parse(s)), "an ISO 8601 time"),
  }),
);
export type ListOutput = z.infer<typeof ListOutputSchema>;

/** Parse a command's stdout as JSON of `schema`; errors name the command and the field. */
export function parseOutput<T>(
  schema: z.ZodType<T>,
  stdout: string,
  command: Pick<ExecCommand, "what" | "argv">,
): T {
  const name = commandName(command);
  let data: unknown;
  try {
    data = JSON.parse(stdout);
  } catch {
    const shown = stdout.trim() === "" ? "nothing" : `"${stdout.trim().slice(0, 200)}"`;
    throw new GantryError("exec_bad_output", `${name} printed ${shown}, not JSON`, {
      field: "output",
    });
  }
  try {
    return parseWith(schema, data, "output");
  } catch (err) {
    if (!isGantryError(err)) throw err;
    const field = err.field ?? "output";
    throw new GantryError("exec_bad_output", `${name} printed a bad answer: ${err.message}`, {
      field,
    });
  }
}
