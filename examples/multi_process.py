"""The Python API under `accelerate launch`: every process runs this script, `toolkit.train`
shares each batch out between them, and only the main process writes the run directory.

    accelerate launch --config_file "$(ftk recipes path accelerate/multi-gpu)" \\
        examples/multi_process.py                                # every GPU of this machine
    accelerate launch --cpu --num_processes 1 examples/multi_process.py --tiny   # the test's
    accelerate launch --multi_gpu --num_processes 2 --num_machines 1 --mixed_precision no \
        --dynamo_backend no examples/multi_process.py --tiny     # two CPU processes (gloo)
"""

import torch.distributed as dist
from accelerate import PartialState
from tiny import parse_args, recipe

import toolkit

args = parse_args(__doc__)
state = PartialState()  # the processes `accelerate launch` started (just this one without it)
result = toolkit.train(recipe(args), output_dir=str(args.workdir / "multi-process"), overwrite=True)
if state.is_main_process:
    print(f"processes: {state.num_processes}")
    print(f"test accuracy: {result.metrics['test_accuracy']:.4f} ({result.run_dir})")
state.wait_for_everyone()
if dist.is_initialized():
    dist.destroy_process_group()  # close the process group before the interpreter exits
