/**
 * dynalite ships no type declarations: the part of its API the handler specs use (its index.js
 * exports one function, `module.exports = dynalite`, that returns an http.Server).
 */
declare module "dynalite" {
  import type { AddressInfo } from "node:net";

  interface DynaliteServer {
    listen(port: number, cb: (err?: Error) => void): void;
    address(): AddressInfo;
    close(cb: (err?: Error) => void): void;
  }

  function dynalite(options: { createTableMs: number }): DynaliteServer;
  export = dynalite;
}
