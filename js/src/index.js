// The package's main entry: the dependency-free client (see ./schemastream.js).
export { applyPatch, getPointer, parsePointer, pendingRequest, pendingStream, SSEParser, subscribe } from "./schemastream.js";
