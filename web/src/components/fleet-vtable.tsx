import { useWindowVirtualizer } from "@tanstack/react-virtual";
import { useLayoutEffect, useRef, useState, type ReactNode } from "react";
import { Table, TableHead, type Column } from "./table";

/** Below this many rows a plain table is as fast, and every row is in the page. */
const PLAIN_UP_TO = 100;
/** A row's height: `--row` (36 px) and its 1 px border. */
const ROW = 37;

/**
 * A table whose rows are rendered only near the window's viewport (the page scrolls as usual;
 * spacer rows keep its height), so 500 apps render as fast as 30. Small lists are a plain Table.
 */
export function VirtualTable<T>(props: {
  columns: Column<T>[];
  rows: readonly T[];
  rowKey: (row: T) => string;
  rowTestId?: (row: T) => string;
  empty?: ReactNode;
  label?: string;
}) {
  if (props.rows.length <= PLAIN_UP_TO) return <Table {...props} />;
  return <Windowed {...props} />;
}

function Windowed<T>(props: {
  columns: Column<T>[];
  rows: readonly T[];
  rowKey: (row: T) => string;
  rowTestId?: (row: T) => string;
  label?: string;
}) {
  const body = useRef<HTMLTableSectionElement>(null);
  const [margin, setMargin] = useState(0);
  useLayoutEffect(() => {
    const el = body.current;
    if (el !== null) setMargin(el.getBoundingClientRect().top + window.scrollY);
  }, []);
  const v = useWindowVirtualizer({
    count: props.rows.length,
    estimateSize: () => ROW,
    overscan: 10,
    scrollMargin: margin,
    getItemKey: (i) => props.rowKey(props.rows[i]!),
  });
  const items = v.getVirtualItems();
  const top = items.length > 0 ? items[0]!.start - margin : 0;
  const bottom = items.length > 0 ? v.getTotalSize() - (items[items.length - 1]!.end - margin) : 0;
  const span = props.columns.length;
  return (
    <div className="table-wrap">
      <table aria-label={props.label} aria-rowcount={props.rows.length + 1}>
        <TableHead columns={props.columns} />
        <tbody ref={body}>
          {top > 0 ? (
            <tr aria-hidden="true" className="vt-spacer">
              <td colSpan={span} style={{ height: top }} />
            </tr>
          ) : null}
          {items.map((item) => {
            const r = props.rows[item.index]!;
            return (
              <tr
                key={item.key}
                data-testid={props.rowTestId?.(r)}
                aria-rowindex={item.index + 2}
                style={{ height: ROW }}
              >
                {props.columns.map((c) => (
                  <td key={c.title} className={c.className}>
                    {c.cell(r)}
                  </td>
                ))}
              </tr>
            );
          })}
          {bottom > 0 ? (
            <tr aria-hidden="true" className="vt-spacer">
              <td colSpan={span} style={{ height: bottom }} />
            </tr>
          ) : null}
        </tbody>
      </table>
    </div>
  );
}
