/**
 * Domain errors. Each one names what the user got wrong (file, row, column, value) so the
 * CLI can print a single line and exit non-zero instead of a stack trace.
 */
export class GalmorphError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A decision-tree schema is malformed or an unknown schema was requested. */
export class SchemaError extends GalmorphError {}

/** A catalogue (CSV/Parquet) is missing columns or holds invalid values. */
export class CatalogError extends GalmorphError {}

/** An image file could not be read or decoded. */
export class ImageDecodeError extends GalmorphError {}

/** A command-line or API option is out of range or inconsistent. */
export class OptionError extends GalmorphError {}
