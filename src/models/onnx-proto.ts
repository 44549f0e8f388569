/**
 * The part of the ONNX protobuf schema (onnx/onnx.proto, IR version 7) that an exported
 * galmorph network uses, as a protobufjs JSON descriptor: field names and numbers are the
 * standard's, so any ONNX reader parses the bytes. Messages and fields the exporter never
 * writes (training info, sparse tensors, sequence/map types, subgraphs) are left out.
 */
import protobuf from 'protobufjs';

/** ONNX TensorProto.DataType of float32. */
export const ONNX_FLOAT = 1;

/** ONNX AttributeProto.AttributeType values used here. */
export const ATTR = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id });

const ONNX_SCHEMA = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            modelVersion: { type: 'int64', id: 5 },
            docString: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: repeated('OperatorSetIdProto', 8),
            metadataProps: repeated('StringStringEntryProto', 14),
          },
        },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        StringStringEntryProto: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        GraphProto: {
          fields: {
            node: repeated('NodeProto', 1),
            name: { type: 'string', id: 2 },
            initializer: repeated('TensorProto', 5),
            docString: { type: 'string', id: 10 },
            input: repeated('ValueInfoProto', 11),
            output: repeated('ValueInfoProto', 12),
          },
        },
        NodeProto: {
          fields: {
            input: repeated('string', 1),
            output: repeated('string', 2),
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: repeated('AttributeProto', 5),
            docString: { type: 'string', id: 6 },
            domain: { type: 'string', id: 7 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            floats: repeated('float', 7),
            ints: repeated('int64', 8),
            type: { type: 'int32', id: 20 },
          },
        },
        TensorProto: {
          fields: {
            dims: repeated('int64', 1),
            dataType: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
          },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 }, docString: { type: 'string', id: 3 } } },
        TypeProto: { fields: { tensorType: { type: 'TypeProtoTensor', id: 1 } } },
        TypeProtoTensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
        TensorShapeProto: { fields: { dim: repeated('Dimension', 1) } },
        Dimension: {
          oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
          fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(ONNX_SCHEMA);
/** onnx.ModelProto (decode it to inspect an exported file). */
export const ModelProto = root.lookupType('onnx.ModelProto');

/** An ONNX attribute, as protobufjs takes it. */
export interface OnnxAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  floats?: number[];
  ints?: number[];
}

/** An ONNX node, as protobufjs takes it. */
export interface OnnxNode {
  opType: string;
  name: string;
  input: string[];
  output: string[];
  attribute: OnnxAttribute[];
}

/** An ONNX tensor (initializer), stored as raw little-endian bytes. */
export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}

/** A graph input or output: float32 tensor with per-axis size or symbolic name. */
export interface OnnxValueInfo {
  name: string;
  docString?: string;
  type: { tensorType: { elemType: number; shape: { dim: ({ dimValue: number } | { dimParam: string })[] } } };
}

/** The whole model, as protobufjs takes it. */
export interface OnnxModel {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  docString: string;
  opsetImport: { domain: string; version: number }[];
  metadataProps: { key: string; value: string }[];
  graph: {
    name: string;
    node: OnnxNode[];
    initializer: OnnxTensor[];
    input: OnnxValueInfo[];
    output: OnnxValueInfo[];
  };
}

/** Serialise a model to ONNX bytes (the contents of a .onnx file). */
export function encodeOnnx(model: OnnxModel): Uint8Array {
  const err = ModelProto.verify(model);
  if (err) throw new Error(`internal error: invalid ONNX model message: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}
