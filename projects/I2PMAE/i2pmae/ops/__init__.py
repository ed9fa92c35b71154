"""Point operators: mmcv CUDA kernels on CUDA tensors, vectorised torch on CPU."""
