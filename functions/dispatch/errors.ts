/** HTTP errors of the webhook routes: each becomes `{"error": message}` with its status. */

/** A request dispatch refuses; `message` tells the sender what to change. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "HttpError";
  }
}

/** 400: the body is not JSON or lacks required fields. */
export class BadRequestError extends HttpError {
  constructor(message: string, options?: ErrorOptions) {
    super(400, message, options);
    this.name = "BadRequestError";
  }
}

/** 401: the signature or token does not authenticate the request. Says nothing more. */
export class UnauthorizedError extends HttpError {
  constructor(message: string) {
    super(401, message);
    this.name = "UnauthorizedError";
  }
}

/** 404: not a webhook route. */
export class NotFoundError extends HttpError {
  constructor(message: string) {
    super(404, message);
    this.name = "NotFoundError";
  }
}

/** 409: the same delivery is being processed right now. */
export class ConflictError extends HttpError {
  constructor(message: string, options?: ErrorOptions) {
    super(409, message, options);
    this.name = "ConflictError";
  }
}

/** 413: the body is larger than a webhook payload can be. */
export class PayloadTooLargeError extends HttpError {
  constructor(message: string) {
    super(413, message);
    this.name = "PayloadTooLargeError";
  }
}

/** 415: the body is not declared as JSON. */
export class UnsupportedMediaTypeError extends HttpError {
  constructor(message: string) {
    super(415, message);
    this.name = "UnsupportedMediaTypeError";
  }
}

/** 422: an authenticated, well-formed delivery from a connector no source lists. */
export class UnmappedConnectorError extends HttpError {
  constructor(message: string) {
    super(422, message);
    this.name = "UnmappedConnectorError";
  }
}

/** 503: a downstream AWS call failed; the sender should retry the delivery. */
export class ServiceUnavailableError extends HttpError {
  constructor(message: string, options?: ErrorOptions) {
    super(503, message, options);
    this.name = "ServiceUnavailableError";
  }
}

/** A non-HTTP event (schedule, SNS) that dispatch cannot use; Lambda records the failed invocation. */
export class InvalidEventError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InvalidEventError";
  }
}

/** Some SNS records could not be processed because a downstream call failed; SNS retries the event. */
export class SnsRetryError extends Error {
  constructor(
    message: string,
    readonly failures: readonly unknown[],
  ) {
    super(message, { cause: failures[0] });
    this.name = "SnsRetryError";
  }
}
