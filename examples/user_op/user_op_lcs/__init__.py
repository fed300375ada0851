"""user_ops::lcs_length, built by setup.py: importing this loads the operator."""

import os

import torch

import torch_mt  # noqa: F401  (loads libtorch_mt.so, which _ops.so links)

#: The operator library beside this file.
library_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ops.so")
torch.ops.load_library(library_path)
