"""The demo data generator: a realistic landing zone with planted, known effects.

``generate_landing_zone`` writes every landing-zone source of ``funnellens.contract`` and the
planted truth (``_demo/planted_truth.json``); ``write_tracking_events`` writes just N tracking
events for benchmarks. ``funnellens demo`` is the command-line front end.
"""

from funnellens.demo.generator import DemoSummary, demo_notice, generate_landing_zone
from funnellens.demo.tracking import write_tracking_events

__all__ = ["DemoSummary", "demo_notice", "generate_landing_zone", "write_tracking_events"]
