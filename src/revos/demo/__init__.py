"""`revos demo`: the whole lead engine against the simulator, in one process, with a funnel that must equal
the simulator's ground truth."""

from revos.demo.run import DemoResult, run_demo
from revos.demo.world import DemoOptions

__all__ = ["DemoOptions", "DemoResult", "run_demo"]
