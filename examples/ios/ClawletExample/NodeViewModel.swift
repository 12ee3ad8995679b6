// The app's one node: pairs from a scanned setup code, owns the NodeClient, and publishes what
// the UI shows (status line, pairing request id, error, the pin dialog).
import Foundation
import SwiftUI
import UIKit
import Clawlet

@MainActor
final class NodeViewModel: ObservableObject {
    /// The raw status, for views that want more than the text.
    @Published private(set) var status: NodeStatus = .idle
    /// One line for the user (NodeStatusText.describe).
    @Published private(set) var statusText = NodeStatusText.describe(.idle)
    /// Shown while the operator has to approve this phone ("clawlet devices approve <id>").
    @Published private(set) var pairingRequestId: String?
    /// The last error, phrased for the user; nil when things are fine.
    @Published private(set) var errorText: String?
    /// What the scanned code points at, shown before pairing.
    @Published private(set) var scannedGateway: String?
    /// Set while the SDK waits for the user to trust a certificate (trust on first use).
    @Published var pinPrompt: PinPrompt?
    /// The certificate changed: offer "trust the new certificate" (forgetPin + connect).
    @Published private(set) var pinMismatch = false

    private(set) var client: NodeClient?
    private let store = KeychainCredentialStore(service: "dev.clawlet.example.node")
    private let handler = AppCommandHandler()
    private let pinBridge = PinConfirmationBridge()
    private lazy var listener = Listener(model: self, pins: pinBridge)
    private static let savedUrlKey = "clawlet.gatewayUrl"

    /// After a restart: reconnect to the gateway paired before (the device token is in the
    /// Keychain, so no setup code is needed again).
    func restore() {
        guard client == nil, let url = UserDefaults.standard.string(forKey: Self.savedUrlKey) else { return }
        start(config: makeConfig(gatewayUrl: url, setupCode: nil))
    }

    /// The user scanned (or pasted) a setup code / oc-pair:// link.
    func pair(scannedCode: String) {
        do {
            // Only for display and an early, friendly error; NodeClient parses it again.
            let info = try parseSetupCode(code: scannedCode)
            scannedGateway = info.url
            if let pin = info.tlsFingerprint {
                scannedGateway = "\(info.url) (certificate \(pin.prefix(16))…)"
            }
        } catch {
            errorText = NodeStatusText.describe(error)
            return
        }
        client?.disconnect()
        client = nil
        start(config: makeConfig(gatewayUrl: nil, setupCode: scannedCode))
    }

    /// Without a setup code: URL + the shared gateway token (`clawlet gateway auth-token`).
    /// wss:// certificates are pinned on first use.
    func connect(gatewayUrl: String, token: String) {
        client?.disconnect()
        client = nil
        var config = makeConfig(gatewayUrl: gatewayUrl, setupCode: nil)
        config.token = token
        start(config: config)
    }

    /// The user accepted the gateway's new certificate after a PinMismatch.
    func trustNewCertificate() {
        guard let client else { return }
        do {
            try client.forgetPin()
            pinMismatch = false
            try client.connect()
        } catch {
            errorText = NodeStatusText.describe(error)
        }
    }

    func disconnect() {
        client?.disconnect()
    }

    /// The pin dialog's buttons.
    func answerPinPrompt(trust: Bool) {
        pinPrompt = nil
        pinBridge.answer(trust)
    }

    private func start(config: NodeClientConfig) {
        do {
            let client = try NodeClient(config: config, store: store, handler: handler, listener: listener)
            self.client = client
            UserDefaults.standard.set(client.gatewayUrl(), forKey: Self.savedUrlKey)
            errorText = nil
            try client.connect()
        } catch {
            errorText = NodeStatusText.describe(error)
        }
    }

    private func makeConfig(gatewayUrl: String?, setupCode: String?) -> NodeClientConfig {
        let device = UIDevice.current
        return NodeClientConfig(
            gatewayUrl: gatewayUrl,
            setupCode: setupCode,
            token: nil,
            password: nil,
            displayName: device.name,
            platform: "ios",
            deviceFamily: device.model,                 // "iPhone", "iPad"
            modelIdentifier: AppCommandHandler.modelIdentifier(),
            appVersion: AppCommandHandler.appVersion(),
            caps: ["device", "location"],
            commands: ["device.info", "location.get"],
            permissions: ["location": LocationAccess.isAuthorized()],
            pinPolicy: .trustOnFirstUse,                // a pin in the setup code wins over this
            allowInsecurePrivateWs: false
        )
    }

    // MARK: - called (on the main actor) by Listener

    fileprivate func apply(status: NodeStatus) {
        self.status = status
        statusText = NodeStatusText.describe(status)
        switch status {
        case .awaitingApproval(let requestId):
            pairingRequestId = requestId
        case .connected:
            pairingRequestId = nil
            errorText = nil
        default:
            break
        }
    }

    fileprivate func apply(error: NodeError) {
        errorText = NodeStatusText.describe(error)
        if case .PinMismatch = error { pinMismatch = true }
    }

    fileprivate func pairingRequired(requestId: String?) {
        pairingRequestId = requestId
    }

    fileprivate func showPinPrompt(_ prompt: PinPrompt) {
        pinPrompt = prompt
    }

    fileprivate func hidePinPrompt(id: UUID) {
        if pinPrompt?.id == id { pinPrompt = nil }
    }
}

/// NodeListener: called on SDK threads, so every UI change hops to the main actor. It holds the
/// model weakly: the client (which holds the listener) is owned by the model.
private final class Listener: NodeListener, @unchecked Sendable {
    private weak var model: NodeViewModel?
    private let pins: PinConfirmationBridge

    init(model: NodeViewModel, pins: PinConfirmationBridge) {
        self.model = model
        self.pins = pins
    }

    func onStatus(status: NodeStatus) {
        Task { @MainActor [weak model] in model?.apply(status: status) }
    }

    func onPairingRequired(requestId: String?, reason: String?) {
        Task { @MainActor [weak model] in model?.pairingRequired(requestId: requestId) }
    }

    func onPairingApproved(requestId: String?) {
        Task { @MainActor [weak model] in model?.pairingRequired(requestId: nil) }
    }

    func onError(error: NodeError) {
        Task { @MainActor [weak model] in model?.apply(error: error) }
    }

    /// Blocks this SDK thread until the user answers the dialog (or the bridge times out).
    func confirmPin(gatewayUrl: String, fingerprint: String) -> Bool {
        pins.ask(gatewayUrl: gatewayUrl, fingerprint: fingerprint,
                 show: { prompt in Task { @MainActor [weak model] in model?.showPinPrompt(prompt) } },
                 hide: { id in Task { @MainActor [weak model] in model?.hidePinPrompt(id: id) } })
    }
}
