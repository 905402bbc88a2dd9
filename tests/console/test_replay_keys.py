"""``console --replay``: pause, step, seek back (a rebuilt pipeline) on the hall clock.

The replay's wall clock is frozen (injected), so only the keys move the hall clock and
the figures are exact."""

from __future__ import annotations

from console.app import HallwatchApp
from feeds.replay import ReplayDriver, ReplaySource, renumber
from runtime.desk import Desk
from runtime.pipeline import Pipeline
from tests.conftest import wait_for
from tests.factories import H, console_morning, ms


def numbered():
    """The morning as a recording holds it: numbered, without the closing heartbeat."""
    return renumber(e for e in console_morning() if e.seq is not None)


async def test_replay_keys_move_the_hall_clock_both_ways() -> None:
    driver = ReplayDriver(numbered(), speed=60.0, start_ts=ms(0), clock=lambda: 0.0)

    def rebuild() -> Desk:
        return Desk(Pipeline([ReplaySource(driver)], publish_interval=0.05))

    app = HallwatchApp(rebuild(), lang="en", refresh_hz=20, replay=driver, rebuild=rebuild)
    async with app.run_test(size=(120, 40)) as pilot:

        def hall():
            view = app.desk.pipeline.view
            return view.city.halls.get(H)

        await wait_for(lambda: hall() is not None and hall().windows_open == 2)
        assert hall().waiting == 0 and hall().now_ms == ms(0)
        await pilot.press("full_stop")  # one minute on: A001 issued
        await wait_for(lambda: hall().now_ms == ms(1))
        assert hall().waiting == 1
        await pilot.press("greater_than_sign")  # 15 minutes on: 09:16
        await wait_for(lambda: hall().now_ms == ms(16))
        assert (hall().waiting, hall().served_today) == (2, 1)
        first = app.desk
        await pilot.press("less_than_sign")  # back to 09:01: a fresh pipeline
        await wait_for(lambda: app.desk is not first and hall() is not None)
        await wait_for(lambda: hall().now_ms == ms(1))
        assert (hall().waiting, hall().served_today, hall().issued_today) == (1, 0, 1)
        await pilot.press("space")
        assert driver.paused
        await wait_for(lambda: "paused" in str(app.query_one("#headline").content.renderables[0]))
        await pilot.press("space")
        assert not driver.paused
