"""The network and what runs it: spec, weights, ONNX contract, backends, the loaded model, tiled inference."""
