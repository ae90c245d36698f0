/**
 * dynalite ships no type declarations: the part of its API the handler specs use. Its index.js
 * exports one function (`module.exports = dynalite`) that returns an http.Server (an https.Server
 * only when given `ssl`, which the specs never pass).
 */
declare module "dynalite" {
  import type { Server } from "node:http";

  function dynalite(options: { createTableMs: number }): Server;
  export = dynalite;
}
