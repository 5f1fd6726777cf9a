from connectors.webchat.meter import Every, TypingMeter


def test_every_is_due_once_per_period() -> None:
    every = Every(10)
    assert [every.due(t) for t in (0, 3, 9.9, 10, 15, 20.5)] == [
        True, False, False, True, False, True,
    ]  # fmt: skip


def test_typing_starts_at_once_repeats_at_most_every_1_5_s_and_stops_once() -> None:
    meter = TypingMeter()
    # The widget sends a frame every 2 s at most (arriving with some jitter), a script faster.
    sent = [(t, meter.admit(True, t)) for t in (0.0, 0.5, 1.0, 1.9, 2.0, 3.0, 4.1)]
    assert [t for t, ok in sent if ok] == [0.0, 1.9, 4.1]
    assert meter.admit(False, 4.5) is True
    assert meter.admit(False, 4.6) is False  # already stopped: nothing to say
    assert meter.admit(True, 4.7) is True  # starting again is news at once
    assert meter.stop() is True and meter.stop() is False


def test_stopping_without_typing_is_never_passed_on() -> None:
    meter = TypingMeter()
    assert not any(meter.admit(False, t / 10) for t in range(100))


def test_a_flood_of_alternating_frames_is_bounded() -> None:
    meter = TypingMeter(burst=4, rate=0.5)
    frames = [(n / 100, n % 2 == 0) for n in range(1000)]  # 100 frames a second for 10 s
    passed = sum(meter.admit(active, t) for t, active in frames)
    assert passed <= 4 + 10 * 0.5 + 1
    assert passed >= 4  # what a person does still goes through
