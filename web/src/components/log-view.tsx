import { useVirtualizer } from "@tanstack/react-virtual";
import { useLayoutEffect, useRef, useSyncExternalStore } from "react";
import type { LogModel } from "./log-model";
import { LogRow, ROW } from "./log-row";

/**
 * The virtualized scroller: only the rows on screen (and a few around) are in the DOM, each of
 * a fixed height. Following keeps the view at the bottom as lines arrive; scrolling up stops
 * following and scrolling back to the bottom starts it again. Not following, the lines on screen
 * stay in place when the oldest lines leave the ring.
 */
export function LogView(props: {
  model: LogModel;
  follow: boolean;
  onFollow: (follow: boolean) => void;
}) {
  const { model, follow, onFollow } = props;
  const version = useSyncExternalStore(model.subscribe, model.getVersion);
  const scroller = useRef<HTMLDivElement>(null);
  const lastTop = useRef(0);
  const lastDropped = useRef(model.dropped);
  const count = model.count;
  const v = useVirtualizer({
    count,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW,
    overscan: 8,
    useFlushSync: false,
  });

  useLayoutEffect(() => {
    const el = scroller.current;
    const gone = model.dropped - lastDropped.current;
    lastDropped.current = model.dropped;
    if (el === null) return;
    if (follow) el.scrollTop = el.scrollHeight;
    else if (gone > 0) el.scrollTop = Math.max(0, el.scrollTop - gone * ROW);
    lastTop.current = el.scrollTop;
  }, [version, follow, model]);

  const onScroll = (): void => {
    const el = scroller.current;
    if (el === null) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < ROW * 1.5;
    if (follow && !atBottom && el.scrollTop < lastTop.current) onFollow(false);
    else if (!follow && atBottom && el.scrollTop > lastTop.current) onFollow(true);
    lastTop.current = el.scrollTop;
  };

  const q = model.query;
  return (
    <div
      ref={scroller}
      className="log-view"
      data-testid="log-view"
      data-count={count}
      tabIndex={0}
      role="log"
      aria-label="log lines"
      onScroll={onScroll}
    >
      <div
        className="log-inner"
        style={{ height: v.getTotalSize(), minWidth: `calc(${model.ring.widest}ch + 14rem)` }}
      >
        {v.getVirtualItems().map((item) => {
          const line = model.lineAt(item.index);
          return line === undefined ? null : (
            <LogRow key={line.seq} line={line} q={q} y={item.start} />
          );
        })}
      </div>
    </div>
  );
}
