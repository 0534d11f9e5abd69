import type { ReactNode } from "react";

export interface Column<T> {
  title: string;
  cell: (row: T) => ReactNode;
  /** Right-aligned numbers, hidden on phones, … */
  className?: string;
}

/** A table that scrolls sideways on a narrow screen instead of widening the page. */
export function Table<T>(props: {
  columns: Column<T>[];
  rows: readonly T[];
  rowKey: (row: T) => string;
  rowTestId?: (row: T) => string;
  empty?: ReactNode;
  label?: string;
}) {
  if (props.rows.length === 0 && props.empty !== undefined)
    return <p className="empty">{props.empty}</p>;
  return (
    <div className="table-wrap">
      <table aria-label={props.label}>
        <TableHead columns={props.columns} />
        <tbody>
          {props.rows.map((r) => (
            <tr key={props.rowKey(r)} data-testid={props.rowTestId?.(r)}>
              {props.columns.map((c) => (
                <td key={c.title} className={c.className}>
                  {c.cell(r)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The header row of a table of these columns (also the virtualized table's). */
export function TableHead<T>(props: { columns: Column<T>[] }) {
  return (
    <thead>
      <tr>
        {props.columns.map((c) => (
          <th key={c.title} className={c.className} scope="col">
            {c.title}
          </th>
        ))}
      </tr>
    </thead>
  );
}
