/**
 * An app's placement settings (docs/scheduler.md): CPUs reserved per instance, node label
 * constraints (`label=value`) and a spread label. Memory reserved per instance is the container
 * memory setting (`apps:set memory=256M`), which also limits a container to it.
 */
import * as z from "zod";
import { parseConstraint, isLabelName } from "../scheduler/demand.js";

/** CPUs per instance: 0.001 to 1024. */
export const CpuSchema = z
  .number()
  .min(0.001, "must be at least 0.001 CPU")
  .max(1024, "must be at most 1024 CPUs")
  .refine(
    (n) =>
      Number.isInteger(Math.round(n * 1000)) && Math.abs(n * 1000 - Math.round(n * 1000)) < 1e-6,
    "must be a multiple of 0.001",
  );

/** `label=value`: the node's label must have that value. */
export const ConstraintSchema = z
  .string()
  .max(128)
  .refine(
    (s) => parseConstraint(s) !== undefined,
    "must be label=value, like role=web (label: letters, digits and _ . / -; value: the same and :)",
  );

/** A node label name, like `location` or `zone`. */
export const LabelNameSchema = z
  .string()
  .refine(
    isLabelName,
    "must be a node label name like location or zone (letters, digits and _ . / -)",
  );

export const ConstraintsSchema = z
  .array(ConstraintSchema)
  .max(16)
  .refine((l) => new Set(l).size === l.length, "lists a constraint twice");
