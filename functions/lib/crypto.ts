/** Hashing and constant-time comparison for webhook authentication and SQS/ECS idempotency ids. */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** Lower-case hex sha256 of `text` (UTF-8). */
export function sha256Hex(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Lower-case hex HMAC-SHA256 of `body` keyed with `secret`. */
function hmacSha256Hex(secret: string, body: Buffer): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/**
 * True when `provided` equals `expected`, compared in constant time. Both are hashed first, so the
 * comparison runs on equal-length buffers and its time reveals neither the length nor a prefix.
 */
export function constantTimeEqual(provided: string, expected: string): boolean {
  const a = createHash("sha256").update(provided, "utf8").digest();
  const b = createHash("sha256").update(expected, "utf8").digest();
  return timingSafeEqual(a, b);
}

/**
 * True when hex `signature` (any case, surrounding spaces ignored) is the HMAC-SHA256 of `body`
 * under `secret`. Uses `timingSafeEqual` on equal-length buffers; a signature of the wrong length
 * or alphabet is rejected before any comparison.
 */
export function verifyHmacSha256Hex(secret: string, body: Buffer, signature: string | undefined): boolean {
  if (signature === undefined) return false;
  const provided = signature.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(provided)) return false;
  const expected = hmacSha256Hex(secret, body);
  return timingSafeEqual(Buffer.from(provided, "utf8"), Buffer.from(expected, "utf8"));
}
