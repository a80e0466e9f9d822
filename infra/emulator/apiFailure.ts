/**
 * The emulated account's refusals: each one an `ApiFailure` shaped like the OpenAPI document's
 * `ApiError*` schemas (`{ error: { code, message, suggestion? } }`), with its HTTP status.
 */
export class ApiFailure extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
    readonly suggestion?: string,
  ) {
    super(message);
  }

  /** The response body: `{ error: { code, message, suggestion? } }`. */
  body(): { error: { code: string; message: string; suggestion?: string } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.suggestion !== undefined ? { suggestion: this.suggestion } : {}),
      },
    };
  }
}

/** 400 `global/invalid-parameters` with Lambda's generic suggestion. */
export function invalid(message: string): ApiFailure {
  return new ApiFailure(400, "global/invalid-parameters", message, "Check the request and try again.");
}

/** 404 `global/object-does-not-exist`. */
export function notFound(message: string, suggestion: string): ApiFailure {
  return new ApiFailure(404, "global/object-does-not-exist", message, suggestion);
}
