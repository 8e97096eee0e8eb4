"""ATS imports: a CSV or JSONL file of contractors, events and steps, applied a batch of rows at a
time by a job on the `bulk` queue (imports.batches). Each row is applied whole or not at all;
external references make a second import of the same file change nothing."""
