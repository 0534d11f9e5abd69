/** Pure helpers of the key browser: paths, folders, and how a value can be shown. */

/** A key or folder as a path under /ui/kv/ (each segment percent-encoded, slashes kept). */
export const kvHref = (keyOrFolder: string): string =>
  keyOrFolder === "" ? "/kv" : `/kv/${keyOrFolder.split("/").map(encodeURIComponent).join("/")}`;

/** The same for the API: `/v1/kv/<key>`. */
export const kvApi = (key: string): string =>
  `/v1/kv/${key.split("/").map(encodeURIComponent).join("/")}`;

/** What the page's URL names: a folder (ends with "/", or nothing: the root) or a key. */
export function kvFromPath(pathname: string): { path: string; folder: boolean } {
  const at = pathname.indexOf("/kv/");
  const rest = at < 0 ? "" : pathname.slice(at + 4);
  const path = rest
    .split("/")
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    })
    .join("/");
  return { path, folder: path === "" || path.endsWith("/") };
}

/** The folder a key or folder lives in ("" for the root). */
export function parentOf(path: string): string {
  const trimmed = path.endsWith("/") ? path.slice(0, -1) : path;
  const cut = trimmed.lastIndexOf("/");
  return cut < 0 ? "" : trimmed.slice(0, cut + 1);
}

/** Breadcrumbs: each folder from the root down to `path`'s own folder, with its label. */
export function crumbs(path: string): { label: string; folder: string }[] {
  const out: { label: string; folder: string }[] = [];
  let acc = "";
  const parts = path.split("/");
  // The last part is the key's own name (or "" after a folder's trailing slash).
  for (const part of parts.slice(0, -1)) {
    acc += part + "/";
    out.push({ label: part === "" ? "(empty)" : part, folder: acc });
  }
  return out;
}

export interface Entry {
  /** The whole key, or the folder with its trailing "/". */
  path: string;
  /** The name shown in this folder. */
  name: string;
  folder: boolean;
  /** Keys under a folder. */
  count: number;
}

/** One folder's entries from the keys under it: sub-folders first, then keys, by name. */
export function entriesOf(prefix: string, keys: readonly string[]): Entry[] {
  const folders = new Map<string, Entry>();
  const leaves: Entry[] = [];
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    const slash = rest.indexOf("/");
    if (slash < 0 || rest === "") {
      leaves.push({
        path: key,
        name: rest === "" ? "(this folder's own key)" : rest,
        folder: false,
        count: 1,
      });
      continue;
    }
    const name = rest.slice(0, slash + 1);
    const f = folders.get(name);
    if (f === undefined) folders.set(name, { path: prefix + name, name, folder: true, count: 1 });
    else f.count++;
  }
  const byName = (a: Entry, b: Entry): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return [...[...folders.values()].sort(byName), ...leaves.sort(byName)];
}

/** Values larger than this are shown read-only (an editor is no place for them). */
export const MAX_EDIT_BYTES = 256 * 1024;

export type Shown =
  | { kind: "text"; text: string; bytes: number }
  | { kind: "binary" | "huge"; bytes: number; preview: string };

/** A base64 value as the editor can show it: text, or read-only when binary or huge. */
export function showValue(base64: string): Shown {
  const bin = atob(base64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  let text: string | undefined;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000e-\u001f]/.test(text)) text = undefined;
  } catch {
    text = undefined;
  }
  if (text === undefined) {
    const hex = Array.from(bytes.slice(0, 64), (b) => b.toString(16).padStart(2, "0")).join(" ");
    return { kind: "binary", bytes: bytes.length, preview: hex };
  }
  if (bytes.length > MAX_EDIT_BYTES)
    return { kind: "huge", bytes: bytes.length, preview: text.slice(0, 2000) };
  return { kind: "text", text, bytes: bytes.length };
}

export function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
