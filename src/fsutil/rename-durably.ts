import { open, rename } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Rename `from` to `to`, then fsync `to`'s directory: the rename itself is only on disk once
 * the directory is, so without the fsync a crash could bring back the old entry.
 */
export async function renameDurably(from: string, to: string): Promise<void> {
  await rename(from, to);
  const dir = await open(dirname(to), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
