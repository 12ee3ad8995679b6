package dev.clawlet.example

import java.util.UUID
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit

/** A trust-on-first-use question for the user. */
data class PinPrompt(
    val gatewayUrl: String,
    val fingerprint: String,
    val id: String = UUID.randomUUID().toString(),
) {
    /** "AB:CD:…", as `clawlet gateway tls-fingerprint` prints it on the gateway host. */
    val grouped: String get() = fingerprint.chunked(2).joinToString(":") { it.uppercase() }
}

/**
 * NodeListener.confirmPin is a synchronous callback: the SDK needs a Boolean back, and the
 * answer comes from a dialog on the main thread. The SDK calls it on one of its blocking-pool
 * threads (never the main thread), so the callback may wait: a CountDownLatch joins the two.
 * The wait has a timeout so a dialog nobody answers (app in the background, user gone) does not
 * hold a thread and the connection attempt forever; a timeout counts as "no" (the SDK reports
 * PinNotConfirmed, and connecting again asks again).
 */
class PinConfirmationBridge(private val timeoutSeconds: Long = 120) {
    private val lock = Any()
    private var latch: CountDownLatch? = null
    private var answer = false

    /** On an SDK thread: show [PinPrompt] and wait for [answer]. */
    fun ask(
        gatewayUrl: String,
        fingerprint: String,
        show: (PinPrompt) -> Unit,
        hide: (PinPrompt) -> Unit,
    ): Boolean {
        val prompt = PinPrompt(gatewayUrl, fingerprint)
        val latch = CountDownLatch(1)
        synchronized(lock) {
            this.latch = latch
            answer = false
        }
        show(prompt)
        val answered = latch.await(timeoutSeconds, TimeUnit.SECONDS)
        synchronized(lock) {
            this.latch = null
            if (!answered) {
                hide(prompt)
                return false
            }
            return answer
        }
    }

    /** On the main thread, from the dialog's buttons. */
    fun answer(trust: Boolean) {
        synchronized(lock) {
            val latch = latch ?: return
            answer = trust
            latch.countDown()
        }
    }
}
