// Hand-written (not generated): Kotlin Flow helpers over the generated NodeListener callbacks.
package dev.clawlet.sdk

import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.flow.asStateFlow

/** One of the listener's non-status callbacks, as a value a Flow can carry. */
sealed class NodeNotice {
    /** An operator must approve this device ([NodeListener.onPairingRequired]). */
    data class PairingRequired(val requestId: String?, val reason: String?) : NodeNotice()

    /** The device was approved ([NodeListener.onPairingApproved]). */
    data class PairingApproved(val requestId: String?) : NodeNotice()

    /** Something the user must know or fix ([NodeListener.onError]). */
    data class Error(val error: NodeException) : NodeNotice()
}

/**
 * A [NodeListener] that publishes what the SDK reports as flows, for Compose and coroutines:
 * pass it to `NodeClient(config, store, handler, listener)` and collect [status] (a
 * `StateFlow<NodeStatus>`, so a late collector gets the current status at once) and [notices].
 *
 * `confirmPin` (trust on first use) goes to [confirmPin] (a suspend lambda: show a dialog and
 * return the user's answer); without one, first-use pins are refused. [delegate], if set, still
 * hears every callback (after the flows got it).
 */
class NodeStatusFlow(
    private val delegate: NodeListener? = null,
    private val confirmPin: (suspend (gatewayUrl: String, fingerprint: String) -> Boolean)? = null,
) : NodeListener {
    private val statusState = MutableStateFlow<NodeStatus>(NodeStatus.Idle)
    private val noticeFlow = MutableSharedFlow<NodeNotice>(
        replay = 0,
        extraBufferCapacity = 64,
        onBufferOverflow = BufferOverflow.DROP_OLDEST,
    )

    /** The node's status; conflated (a slow collector sees the latest). */
    val status: StateFlow<NodeStatus> = statusState.asStateFlow()

    /** Pairing requests, approvals and errors (bounded: the oldest go if nobody collects). */
    val notices: SharedFlow<NodeNotice> = noticeFlow.asSharedFlow()

    override fun onStatus(status: NodeStatus) {
        statusState.value = status
        delegate?.onStatus(status)
    }

    override fun onPairingRequired(requestId: String?, reason: String?) {
        noticeFlow.tryEmit(NodeNotice.PairingRequired(requestId, reason))
        delegate?.onPairingRequired(requestId, reason)
    }

    override fun onPairingApproved(requestId: String?) {
        noticeFlow.tryEmit(NodeNotice.PairingApproved(requestId))
        delegate?.onPairingApproved(requestId)
    }

    override fun onError(error: NodeException) {
        noticeFlow.tryEmit(NodeNotice.Error(error))
        delegate?.onError(error)
    }

    override suspend fun confirmPin(gatewayUrl: String, fingerprint: String): Boolean =
        confirmPin?.invoke(gatewayUrl, fingerprint)
            ?: delegate?.confirmPin(gatewayUrl, fingerprint)
            ?: false
}

/** The status of a client created with a [NodeStatusFlow] listener, as a plain `Flow`. */
fun NodeStatusFlow.asFlow(): Flow<NodeStatus> = status
