// The app lifecycle, the network and background wake-ups, forwarded to the NodeClient:
//   scenePhase .background/.active  → suspend() / resume()
//   NWPathMonitor path change       → networkChanged()   (retry now, not after the backoff)
//   silent push / BGAppRefreshTask  → wake(leaseMs:)      (serve queued invokes, then sleep)
import BackgroundTasks
import Network
import SwiftUI
import UIKit
import Clawlet

@MainActor
final class NodeLifecycle {
    static let refreshTaskId = "dev.clawlet.example.node.refresh"   // Info.plist BGTaskSchedulerPermittedIdentifiers
    private let model: NodeViewModel
    private let monitor = NWPathMonitor()
    private var lastPath: NWPath.Status?

    init(model: NodeViewModel) {
        self.model = model
        monitor.pathUpdateHandler = { [weak self] path in
            Task { @MainActor in self?.pathChanged(path) }
        }
        monitor.start(queue: DispatchQueue(label: "dev.clawlet.example.path"))
    }

    deinit {
        monitor.cancel()
    }

    func scenePhaseChanged(_ phase: ScenePhase) {
        guard let client = model.client else { return }
        switch phase {
        case .background:
            client.suspend()
            scheduleRefresh()
        case .active:
            try? client.resume()     // an error is also reported to the listener
        default:
            break
        }
    }

    private func pathChanged(_ path: NWPath) {
        defer { lastPath = path.status }
        // The first callback is the current state, not a change.
        guard lastPath != nil, path.status == .satisfied else { return }
        model.client?.networkChanged()
    }

    /// A silent push (content-available) from the gateway's push relay: come online long
    /// enough to serve what is queued. iOS allows about 30 s for the whole handler.
    func handleSilentPush() async -> UIBackgroundFetchResult {
        guard let client = model.client else { return .noData }
        do {
            return try await client.wake(leaseMs: 20_000) ? .newData : .noData
        } catch {
            return .failed
        }
    }

    // MARK: - BGAppRefreshTask

    static func registerBackgroundTasks(model: @escaping @MainActor () -> NodeViewModel) {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: refreshTaskId, using: nil) { task in
            let work = Task { @MainActor in
                let ok = (try? await model().client?.wake(leaseMs: 20_000)) ?? false
                task.setTaskCompleted(success: ok == true)
            }
            task.expirationHandler = { work.cancel() }   // cancelling the await drops the wake
        }
    }

    private func scheduleRefresh() {
        let request = BGAppRefreshTaskRequest(identifier: Self.refreshTaskId)
        request.earliestBeginDate = Date(timeIntervalSinceNow: 15 * 60)
        try? BGTaskScheduler.shared.submit(request)
    }
}
