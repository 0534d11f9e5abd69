import { Link, useLocation } from "wouter";
import { kvFromPath, crumbs, kvHref } from "./kv-tree";
import { KvFolder } from "./kv-folder";
import { KvKey } from "./kv-key";
import "../data-pages.css";

/**
 * The key/value browser: `/kv/<folder>/` lists a folder (keys ending in "/" are folders),
 * `/kv/<key>` opens a key in the editor. The URL is read raw (wouter decodes it, and keys may
 * contain escaped slashes or percent signs).
 */
export function Kv() {
  useLocation(); // re-render on navigation
  const { path, folder } = kvFromPath(window.location.pathname);
  const trail = (
    <nav aria-label="breadcrumbs" className="crumbs">
      <Link href={kvHref("")}>keys</Link>
      {crumbs(path).map((c) => (
        <span key={c.folder}>
          <span aria-hidden="true"> / </span>
          <Link href={kvHref(c.folder)}>{c.label}</Link>
        </span>
      ))}
    </nav>
  );
  return folder ? (
    <KvFolder key={path} prefix={path} trail={trail} />
  ) : (
    <KvKey key={path} keyName={path} trail={trail} />
  );
}
