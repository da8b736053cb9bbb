/**
 * The part of better-sqlite3 12.x the history uses (the package ships no types; a local declaration
 * avoids another dependency for a handful of calls).
 */
declare module 'better-sqlite3' {
  namespace Database {
    interface RunResult {
      changes: number;
      lastInsertRowid: number | bigint;
    }

    interface Statement<P extends unknown[] = unknown[], R = unknown> {
      run(...params: P): RunResult;
      get(...params: P): R | undefined;
      all(...params: P): R[];
      iterate(...params: P): IterableIterator<R>;
      /** Return only the first column of each row. */
      pluck(toggle?: boolean): Statement<P, unknown>;
    }

    interface Options {
      readonly?: boolean;
      fileMustExist?: boolean;
      /** busy_timeout in ms (default 5000). */
      timeout?: number;
    }

    interface Database {
      readonly open: boolean;
      readonly name: string;
      readonly inTransaction: boolean;
      prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): Statement<P, R>;
      exec(sql: string): this;
      pragma(source: string, options?: { simple?: boolean }): unknown;
      transaction<F extends (...args: any[]) => unknown>(fn: F): F;
      close(): this;
    }
  }

  const Database: new (filename: string, options?: Database.Options) => Database.Database;
  export = Database;
}
