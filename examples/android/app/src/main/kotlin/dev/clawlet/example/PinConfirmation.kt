package dev.clawlet.example

import java.util.UUID
import kotlinx.coroutines.CompletableDeferred

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
 * NodeListener.confirmPin is a `suspend fun`: the SDK awaits the user's answer without holding
 * a thread. A CompletableDeferred joins it to the dialog's buttons. The SDK bounds the wait
 * itself (an unanswered prompt counts as "no" after a few minutes and the coroutine is
 * cancelled); the prompt is hidden then too.
 */
class PinConfirmationBridge {
    private val lock = Any()
    private var pending: CompletableDeferred<Boolean>? = null

    /** Shows [PinPrompt] and suspends until [answer] (or until the SDK gives up). */
    suspend fun ask(
        gatewayUrl: String,
        fingerprint: String,
        show: (PinPrompt) -> Unit,
        hide: (PinPrompt) -> Unit,
    ): Boolean {
        val prompt = PinPrompt(gatewayUrl, fingerprint)
        val answer = CompletableDeferred<Boolean>()
        synchronized(lock) {
            pending?.complete(false) // a newer question replaces an unanswered one
            pending = answer
        }
        show(prompt)
        try {
            return answer.await()
        } finally {
            synchronized(lock) { if (pending === answer) pending = null }
            hide(prompt)
        }
    }

    /** On the main thread, from the dialog's buttons. */
    fun answer(trust: Boolean) {
        synchronized(lock) { pending }?.complete(trust)
    }
}
